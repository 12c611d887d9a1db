"""The clinical record of a consult: its encounter (modality, who was present), the patient's
consent to be seen remotely, and the doctor's signed note (nota de evolución / interconsulta)."""
