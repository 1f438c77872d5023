"""Published numbers of Centofanti et al. (2025, A&A 694, A228): docs/reference.md, Published numbers.

NOT our results: the values we compare against, in one place. Classification
accuracy / within-one ("top-two") are 10-split means with the std of the
paper's figure bands; PSF errors are relative pixel RMSE in % (mean, std over
test stars); each PSF-impact point was a single training without seeds.
"""

#: classifier -> F1, accuracy, within-one (and the S-model's PSF error, %)
CLASSIFICATION = {
    "pca_mlp": {"f1": 0.366, "accuracy": 0.370, "accuracy_std": 0.015, "within_one": 0.757, "within_one_std": 0.018},
    "cnn_mlp": {"f1": 0.385, "accuracy": 0.391, "accuracy_std": 0.018, "within_one": 0.746, "within_one_std": 0.020},
    "svm_psf_s1": {"f1": 0.392, "accuracy": 0.410, "accuracy_std": 0.012, "within_one": 0.755, "within_one_std": 0.008, "psf_error_pct": 2.382},
    "svm_psf_s2": {"f1": 0.431, "accuracy": 0.450, "accuracy_std": 0.011, "within_one": 0.816, "within_one_std": 0.012, "psf_error_pct": 1.698},
    "svm_psf_s3": {"f1": 0.491, "accuracy": 0.498, "accuracy_std": 0.011, "within_one": 0.869, "within_one_std": 0.008, "psf_error_pct": 1.251},
    "svm_psf_s4": {"f1": 0.506, "accuracy": 0.512, "accuracy_std": 0.015, "within_one": 0.873, "within_one_std": 0.011, "psf_error_pct": 1.022},
    "svm_psf_s5": {"f1": 0.516, "accuracy": 0.525, "accuracy_std": 0.015, "within_one": 0.884, "within_one_std": 0.009, "psf_error_pct": 0.882},
    "svm_psf_s6": {"f1": 0.523, "accuracy": 0.529, "accuracy_std": 0.009, "within_one": 0.886, "within_one_std": 0.007, "psf_error_pct": 0.650},
    "svm_psf_gt": {"f1": 0.546, "accuracy": 0.549, "accuracy_std": 0.014, "within_one": 0.910, "within_one_std": 0.012},
}
#: generalisation test (single run) on the second exposure
GENERALISATION = {"cnn_mlp": {"accuracy": 0.275, "within_one": 0.517},
                  "svm_psf_gt": {"accuracy": 0.534, "within_one": 0.883}}
#: per-class recall, O5..M5
RECALL = {
    "svm_psf_gt": [.32, .60, .41, .34, .50, .40, .50, .29, .35, .57, .89, .97, 1.0],
    "cnn_mlp": [.39, .31, .27, .26, .19, .29, .26, .16, .25, .35, .60, .81, .99],
}
#: PSF models S1..S6: training stars -> (mean %, std %)
PSF_ERROR = {50: (2.382, 2.159), 100: (1.698, 1.170), 200: (1.251, 0.631),
             500: (1.022, 0.606), 1000: (0.882, 0.399), 2000: (0.650, 0.287)}
#: PSF impact: base stars -> {added stars: error %} (0 = the base alone)
IMPACT = {
    50: {0: 2.382, 50: 1.665, 100: 1.438, 200: 1.162, 500: 1.119, 1000: 0.964, 2000: 0.775},
    100: {0: 1.698, 50: 1.381, 100: 1.263, 200: 1.196, 500: 0.934, 1000: 0.876, 2000: 0.752},
}
IMPACT_REFERENCE_2000 = 0.650
#: labelling of the 2000 extra stars: base -> (accuracy, within-one)
LABELLING = {50: (0.405, 0.764), 100: (0.431, 0.808)}
#: WaveDiff reference (2021 data set, 2000 stars): pixel and SR relative RMSE, %
WAVEDIFF_2000 = {"pixel": 0.86, "sr": 1.29}


def as_dict() -> dict:
    """Everything above as plain nested dicts with string keys (for the paper's macros)."""
    return {
        "classification": CLASSIFICATION,
        "generalisation": GENERALISATION,
        "recall": RECALL,
        "psf_error": {str(n): {"mean": m, "std": s} for n, (m, s) in PSF_ERROR.items()},
        "impact": {f"base{b}": {str(e): v for e, v in d.items()} for b, d in IMPACT.items()},
        "impact_reference_2000": IMPACT_REFERENCE_2000,
        "labelling": {f"base{b}": {"accuracy": a, "within_one": w} for b, (a, w) in LABELLING.items()},
        "wavediff_2000": WAVEDIFF_2000,
    }
