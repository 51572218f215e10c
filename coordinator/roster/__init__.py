"""The roster: facilitators' profiles, trainings, availability and conflicts, and the venues."""
