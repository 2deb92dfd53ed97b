; benchmark generated from python API
(set-info :status unknown)
(assert
 (exists ((a_0_0 Real) (a_0_1 Real) (a_1_0 Real) (a_1_1 Real) )(forall ((x_0_0 Real) (x_1_0 Real) (y_0_0 Real) (y_1_0 Real) )(let (($x53 (and (= (+ (* x_0_0 y_0_0)) a_0_0) (= (+ (* x_0_0 y_1_0)) a_0_1) (= (+ (* x_1_0 y_0_0)) a_1_0) (= (+ (* x_1_0 y_1_0)) a_1_1))))
(not $x53)))
)
)
(check-sat)
