% 11 sentence(s); P is closed iff every one is false (encodings: box+zero_outside+gauge+zero_patterns+scaling+symmetry)
% closedness[Z=10.00]: some A with this nonzero pattern is a limit of products X'Y'ᵀ but not itself a product XYᵀ (true ⇒ P is not closed)
load_package redlog;
rlset ofsf;
phi := (all({x11, x21, x22, y11, y21, y22}, not((x11*y11 - 1 = 0 and x11*y21 = 0 and x21*y11 = 0 and x21*y21 + x22*y22 = 0))) and all({e}, (e > 0 impl ex({u21, v11, v21, v22}, (-e + v11 - 1 < 0 and -e - v11 + 1 < 0 and -e + v21 < 0 and -e - v21 < 0 and u21*v11 - e < 0 and -u21*v11 - e < 0 and u21*v21 - e + v22 < 0 and -u21*v21 - e - v22 < 0)))));
rlqe phi;
% closedness[Z=01.00]: some A with this nonzero pattern is a limit of products X'Y'ᵀ but not itself a product XYᵀ (true ⇒ P is not closed)
load_package redlog;
rlset ofsf;
phi := (all({x11, x21, x22, y11, y21, y22}, not((x11*y11 = 0 and x11*y21 - 1 = 0 and x21*y11 = 0 and x21*y21 + x22*y22 = 0))) and all({e}, (e > 0 impl ex({u21, v11, v21, v22}, (-e + v11 < 0 and -e - v11 < 0 and -e + v21 - 1 < 0 and -e - v21 + 1 < 0 and u21*v11 - e < 0 and -u21*v11 - e < 0 and u21*v21 - e + v22 < 0 and -u21*v21 - e - v22 < 0)))));
rlqe phi;
% closedness[Z=00.01]: some A with this nonzero pattern is a limit of products X'Y'ᵀ but not itself a product XYᵀ (true ⇒ P is not closed)
load_package redlog;
rlset ofsf;
phi := (all({x11, x21, x22, y11, y21, y22}, not((x11*y11 = 0 and x11*y21 = 0 and x21*y11 = 0 and x21*y21 + x22*y22 - 1 = 0))) and all({e}, (e > 0 impl ex({u21, v11, v21, v22}, (-e + v11 < 0 and -e - v11 < 0 and -e + v21 < 0 and -e - v21 < 0 and u21*v11 - e < 0 and -u21*v11 - e < 0 and u21*v21 - e + v22 - 1 < 0 and -u21*v21 - e - v22 + 1 < 0)))));
rlqe phi;
% closedness[Z=11.00]: some A with this nonzero pattern is a limit of products X'Y'ᵀ but not itself a product XYᵀ (true ⇒ P is not closed)
load_package redlog;
rlset ofsf;
phi := (all({x11, x21, x22, y11, y21, y22}, not((x11*y11 - 1 = 0 and x11*y21 - 1 = 0 and x21*y11 = 0 and x21*y21 + x22*y22 = 0))) and all({e}, (e > 0 impl ex({u21, v11, v21, v22}, (-e + v11 - 1 < 0 and -e - v11 + 1 < 0 and -e + v21 - 1 < 0 and -e - v21 + 1 < 0 and u21*v11 - e < 0 and -u21*v11 - e < 0 and u21*v21 - e + v22 < 0 and -u21*v21 - e - v22 < 0)))));
rlqe phi;
% closedness[Z=01.10]: some A with this nonzero pattern is a limit of products X'Y'ᵀ but not itself a product XYᵀ (true ⇒ P is not closed)
load_package redlog;
rlset ofsf;
phi := (all({x11, x21, x22, y11, y21, y22}, not((x11*y11 = 0 and x11*y21 - 1 = 0 and x21*y11 - 1 = 0 and x21*y21 + x22*y22 = 0))) and all({e}, (e > 0 impl ex({u21, v11, v21, v22}, (-e + v11 < 0 and -e - v11 < 0 and -e + v21 - 1 < 0 and -e - v21 + 1 < 0 and u21*v11 - e - 1 < 0 and -u21*v11 - e + 1 < 0 and u21*v21 - e + v22 < 0 and -u21*v21 - e - v22 < 0)))));
rlqe phi;
% closedness[Z=10.01]: some A with this nonzero pattern is a limit of products X'Y'ᵀ but not itself a product XYᵀ (true ⇒ P is not closed)
load_package redlog;
rlset ofsf;
phi := (all({x11, x21, x22, y11, y21, y22}, not((x11*y11 - 1 = 0 and x11*y21 = 0 and x21*y11 = 0 and x21*y21 + x22*y22 - 1 = 0))) and all({e}, (e > 0 impl ex({u21, v11, v21, v22}, (-e + v11 - 1 < 0 and -e - v11 + 1 < 0 and -e + v21 < 0 and -e - v21 < 0 and u21*v11 - e < 0 and -u21*v11 - e < 0 and u21*v21 - e + v22 - 1 < 0 and -u21*v21 - e - v22 + 1 < 0)))));
rlqe phi;
% closedness[Z=01.01]: some A with this nonzero pattern is a limit of products X'Y'ᵀ but not itself a product XYᵀ (true ⇒ P is not closed)
load_package redlog;
rlset ofsf;
phi := (all({x11, x21, x22, y11, y21, y22}, not((x11*y11 = 0 and x11*y21 - 1 = 0 and x21*y11 = 0 and x21*y21 + x22*y22 - 1 = 0))) and all({e}, (e > 0 impl ex({u21, v11, v21, v22}, (-e + v11 < 0 and -e - v11 < 0 and -e + v21 - 1 < 0 and -e - v21 + 1 < 0 and u21*v11 - e < 0 and -u21*v11 - e < 0 and u21*v21 - e + v22 - 1 < 0 and -u21*v21 - e - v22 + 1 < 0)))));
rlqe phi;
% closedness[Z=11.10]: some A with this nonzero pattern is a limit of products X'Y'ᵀ but not itself a product XYᵀ (true ⇒ P is not closed)
load_package redlog;
rlset ofsf;
phi := (all({x11, x21, x22, y11, y21, y22}, not((x11*y11 - 1 = 0 and x11*y21 - 1 = 0 and x21*y11 - 1 = 0 and x21*y21 + x22*y22 = 0))) and all({e}, (e > 0 impl ex({u21, v11, v21, v22}, (-e + v11 - 1 < 0 and -e - v11 + 1 < 0 and -e + v21 - 1 < 0 and -e - v21 + 1 < 0 and u21*v11 - e - 1 < 0 and -u21*v11 - e + 1 < 0 and u21*v21 - e + v22 < 0 and -u21*v21 - e - v22 < 0)))));
rlqe phi;
% closedness[Z=11.01]: some A with this nonzero pattern is a limit of products X'Y'ᵀ but not itself a product XYᵀ (true ⇒ P is not closed)
load_package redlog;
rlset ofsf;
phi := (all({x11, x21, x22, y11, y21, y22}, not((x11*y11 - 1 = 0 and x11*y21 - 1 = 0 and x21*y11 = 0 and x21*y21 + x22*y22 - 1 = 0))) and all({e}, (e > 0 impl ex({u21, v11, v21, v22}, (-e + v11 - 1 < 0 and -e - v11 + 1 < 0 and -e + v21 - 1 < 0 and -e - v21 + 1 < 0 and u21*v11 - e < 0 and -u21*v11 - e < 0 and u21*v21 - e + v22 - 1 < 0 and -u21*v21 - e - v22 + 1 < 0)))));
rlqe phi;
% closedness[Z=01.11]: some A with this nonzero pattern is a limit of products X'Y'ᵀ but not itself a product XYᵀ (true ⇒ P is not closed)
load_package redlog;
rlset ofsf;
phi := (all({x11, x21, x22, y11, y21, y22}, not((x11*y11 = 0 and x11*y21 - 1 = 0 and x21*y11 - 1 = 0 and x21*y21 + x22*y22 - 1 = 0))) and all({e}, (e > 0 impl ex({u21, v11, v21, v22}, (-e + v11 < 0 and -e - v11 < 0 and -e + v21 - 1 < 0 and -e - v21 + 1 < 0 and u21*v11 - e - 1 < 0 and -u21*v11 - e + 1 < 0 and u21*v21 - e + v22 - 1 < 0 and -u21*v21 - e - v22 + 1 < 0)))));
rlqe phi;
% closedness[Z=11.11]: some A with this nonzero pattern is a limit of products X'Y'ᵀ but not itself a product XYᵀ (true ⇒ P is not closed)
load_package redlog;
rlset ofsf;
phi := ex({a22}, (a22 <> 0 and all({x11, x21, x22, y11, y21, y22}, not((x11*y11 - 1 = 0 and x11*y21 - 1 = 0 and x21*y11 - 1 = 0 and x21*y21 + x22*y22 - a22 = 0))) and all({e}, (e > 0 impl ex({u21, v11, v21, v22}, (-e + v11 - 1 < 0 and -e - v11 + 1 < 0 and -e + v21 - 1 < 0 and -e - v21 + 1 < 0 and u21*v11 - e - 1 < 0 and -u21*v11 - e + 1 < 0 and u21*v21 - a22 - e + v22 < 0 and -u21*v21 + a22 - e - v22 < 0))))));
rlqe phi;
