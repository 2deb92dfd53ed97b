(* membership: A0 = XYᵀ for some feasible X, Y (true ⇒ A0 ∈ P) *)
Resolve[Exists[{x11, x21, x22, y11, y21, y22}, (3*x11*y11 - 1 == 0 && x11*y21 == 0 && x21*y11 + 2 == 0 && 2*x21*y21 + 2*x22*y22 - 5 == 0)], Reals]
