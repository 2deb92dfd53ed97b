% membership: A0 = XYᵀ for some feasible X, Y (true ⇒ A0 ∈ P)
load_package redlog;
rlset ofsf;
phi := ex({x11, x21, x22, y11, y21, y22}, (3*x11*y11 - 1 = 0 and x11*y21 = 0 and x21*y11 + 2 = 0 and 2*x21*y21 + 2*x22*y22 - 5 = 0));
rlqe phi;
