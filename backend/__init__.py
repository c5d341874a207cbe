"""parboard: the yearly administrative-reform (Chỉ số CCHC) cycle for Vietnamese provincial departments."""
