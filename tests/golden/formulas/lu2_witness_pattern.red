% closedness[Z=01.10]: some A with this nonzero pattern is a limit of products X'Y'ᵀ but not itself a product XYᵀ (true ⇒ P is not closed)
load_package redlog;
rlset ofsf;
phi := (all({x11, x21, x22, y11, y21, y22}, not((x11*y11 = 0 and x11*y21 - 1 = 0 and x21*y11 - 1 = 0 and x21*y21 + x22*y22 = 0))) and all({e}, (e > 0 impl ex({u21, v11, v21, v22}, (-e + v11 < 0 and -e - v11 < 0 and -e + v21 - 1 < 0 and -e - v21 + 1 < 0 and u21*v11 - e - 1 < 0 and -u21*v11 - e + 1 < 0 and u21*v21 - e + v22 < 0 and -u21*v21 - e - v22 < 0)))));
rlqe phi;
