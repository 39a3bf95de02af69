"""Shared test data: one complete answer set of rubrics/library/quick-check.yaml.

Hand-computed scores (0-100) of ANSWERS: indicators SG1 83.3, SG2 66.7, SV1 66.7, SV2 none
(not applicable), RS1 16.7, RS2 100; domains SG 75, SV 66.7, RS 58.3; overall
(2 x 75 + 66.7 + 58.3) / 4 = 68.75, band "Developing".
"""

ANSWERS = {
    "SG1_policy": 3,
    "SG1_focal": "yes",
    "SG2_vetting": 2,
    "SG2_incidents": 4,
    "SV1_plans": 3,
    "SV1_referral": "most",
    "SV2_shelter": "__na__",
    "RS1_data": 2,
    "RS1_outcomes": 1,
    "RS2_evaluated": "yes",
    "RS2_changes": "We now follow up at 6 months.",
}
OVERALL = 68.75
