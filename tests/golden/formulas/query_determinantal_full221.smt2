; benchmark generated from python API
(set-info :status unknown)
(assert
 (exists ((a_0_0 Real) (a_0_1 Real) (a_1_0 Real) (a_1_1 Real) )(let (($x73 (forall ((x_0_0 Real) (x_1_0 Real) (y_0_0 Real) (y_1_0 Real) )(let (($x71 (and (= (+ (* x_0_0 y_0_0)) a_0_0) (= (+ (* x_0_0 y_1_0)) a_0_1) (= (+ (* x_1_0 y_0_0)) a_1_0) (= (+ (* x_1_0 y_1_0)) a_1_1))))
(not $x71)))
))
(let (($x76 (or (= a_1_0 0.0) (= a_1_0 1.0))))
(let (($x79 (or (= a_0_1 0.0) (= a_0_1 1.0))))
(let (($x82 (or (= a_0_0 0.0) (= a_0_0 1.0))))
(and (= (+ (* (* 1.0 a_0_0) a_1_1) (* (* (- 1.0) a_0_1) a_1_0)) 0.0) $x82 $x79 $x76 $x73))))))
)
(check-sat)
