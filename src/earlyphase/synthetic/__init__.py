"""earlyphase.synthetic: labelled synthetic data sets of any study, made from the study file and a profile.

- ``read_profile(name_or_path)``: a profile (``profiles/STUDY.yaml`` bundled) of what the made-up trial looks like;
- ``generate_synthetic(study, profile)``: the data set as capture actions, seeded and reproducible, with the
  dose-finding design deciding each cohort's level;
- ``load_synthetic(db, profile)``: write it through capture, one audited transaction, the study marked synthetic.
"""

from earlyphase.synthetic.generate import Action, CohortDecision, SyntheticData, generate_synthetic
from earlyphase.synthetic.load import SyntheticLoadResult, load_synthetic
from earlyphase.synthetic.profile import Profile, bundled_profiles, read_profile

__all__ = ["Action", "CohortDecision", "Profile", "SyntheticData", "SyntheticLoadResult", "bundled_profiles",
           "generate_synthetic", "load_synthetic", "read_profile"]
