"""Physics, no ML framework: the instrument and its conventions (:mod:`.telescope`), Noll
Zernikes (:mod:`.zernike`), the pupil (:mod:`.pupil`), the wavefront field (:mod:`.field`),
SED templates (:mod:`.seds`) and the noise model with its one estimator (:mod:`.noise`)."""
