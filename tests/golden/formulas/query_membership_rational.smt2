; benchmark generated from python API
(set-info :status unknown)
(declare-fun y_0_0 () Real)
(declare-fun x_0_0 () Real)
(declare-fun y_1_0 () Real)
(declare-fun x_1_0 () Real)
(declare-fun y_1_1 () Real)
(declare-fun x_1_1 () Real)
(assert
 (= (/ 1.0 3.0) (+ (* x_0_0 y_0_0))))
(assert
 (= 0.0 (+ (* x_0_0 y_1_0))))
(assert
 (= 0.0 (+ (* x_1_0 y_0_0))))
(assert
 (let ((?x46 (+ (* x_1_0 y_1_0) (* x_1_1 y_1_1))))
(= (- 2.0) ?x46)))
(check-sat)
