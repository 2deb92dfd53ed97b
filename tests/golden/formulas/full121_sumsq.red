% closedness: some A is a limit of products X'Y'ᵀ but not itself a product XYᵀ (true ⇒ P is not closed)
load_package redlog;
rlset ofsf;
phi := ex({a11, a12}, (all({x11, y11, y21}, not((x11*y11 - a11 = 0 and x11*y21 - a12 = 0))) and all({e}, (e > 0 impl ex({v11, v21}, a11^2 - 2*a11*v11 + a12^2 - 2*a12*v21 + v11^2 + v21^2 - e < 0)))));
rlqe phi;
