; benchmark generated from python API
(set-info :status unknown)
(declare-fun y_0_0_0 () Real)
(declare-fun x_0_0_0 () Real)
(declare-fun x_0_0_1 () Real)
(declare-fun y_0_0_1 () Real)
(declare-fun x_0_0_2 () Real)
(declare-fun y_0_0_2 () Real)
(declare-fun y_1_0_0 () Real)
(declare-fun y_1_0_1 () Real)
(declare-fun y_1_0_2 () Real)
(declare-fun x_1_0_0 () Real)
(declare-fun x_1_0_1 () Real)
(declare-fun x_1_0_2 () Real)
(declare-fun y_1_1_0 () Real)
(declare-fun x_1_1_0 () Real)
(declare-fun x_1_1_1 () Real)
(declare-fun y_1_1_1 () Real)
(declare-fun x_1_1_2 () Real)
(declare-fun y_1_1_2 () Real)
(assert
 (= 0.0 (+ (* x_0_0_0 y_0_0_0))))
(assert
 (let ((?x48 (+ (* x_0_0_0 y_0_0_1) (* x_0_0_1 y_0_0_0))))
 (= 0.0 ?x48)))
(assert
 (let ((?x54 (+ (* x_0_0_0 y_0_0_2) (* x_0_0_1 y_0_0_1) (* x_0_0_2 y_0_0_0))))
 (= 0.0 ?x54)))
(assert
 (= 0.0 (+ (* x_0_0_0 y_1_0_0))))
(assert
 (let ((?x63 (+ (* x_0_0_0 y_1_0_1) (* x_0_0_1 y_1_0_0))))
 (= 0.0 ?x63)))
(assert
 (let ((?x69 (+ (* x_0_0_0 y_1_0_2) (* x_0_0_1 y_1_0_1) (* x_0_0_2 y_1_0_0))))
 (= 1.0 ?x69)))
(assert
 (= 0.0 (+ (* x_1_0_0 y_0_0_0))))
(assert
 (let ((?x78 (+ (* x_1_0_0 y_0_0_1) (* x_1_0_1 y_0_0_0))))
 (= 0.0 ?x78)))
(assert
 (let ((?x84 (+ (* x_1_0_0 y_0_0_2) (* x_1_0_1 y_0_0_1) (* x_1_0_2 y_0_0_0))))
 (= 1.0 ?x84)))
(assert
 (let ((?x89 (+ (* x_1_0_0 y_1_0_0) (* x_1_1_0 y_1_1_0))))
 (= 0.0 ?x89)))
(assert
 (let ((?x96 (+ (* x_1_0_0 y_1_0_1) (* x_1_0_1 y_1_0_0) (* x_1_1_0 y_1_1_1) (* x_1_1_1 y_1_1_0))))
 (= 0.0 ?x96)))
(assert
 (let ((?x105 (+ (* x_1_0_0 y_1_0_2) (* x_1_0_1 y_1_0_1) (* x_1_0_2 y_1_0_0) (* x_1_1_0 y_1_1_2) (* x_1_1_1 y_1_1_1) (* x_1_1_2 y_1_1_0))))
(= 0.0 ?x105)))
(check-sat)
