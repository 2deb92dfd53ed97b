; everything: every matrix supported on the union of the rank-one supports is a product XYᵀ (true ⇒ P is that linear space, closed)
(assert (forall ((a11 Real) (a22 Real)) (exists ((x11 Real) (x22 Real) (y11 Real) (y22 Real)) (and (= (+ (* x11 y11) (* (- 1.0) a11)) 0.0) (= (+ (* x22 y22) (* (- 1.0) a22)) 0.0)))))
(check-sat-using nlqsat)
