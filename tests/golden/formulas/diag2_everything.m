(* everything: every matrix supported on the union of the rank-one supports is a product XYᵀ (true ⇒ P is that linear space, closed) *)
Resolve[ForAll[{a11, a22}, Exists[{x11, x22, y11, y22}, (x11*y11 - a11 == 0 && x22*y22 - a22 == 0)]], Reals]
