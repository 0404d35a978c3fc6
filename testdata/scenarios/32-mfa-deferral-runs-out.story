# Enrolment is prompted at first login and may be skipped for at most 30 days, then it is mandatory (R6.3, seed 003)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link

  anna logs in with "Correct horse battery 42"
  expect decision mfa_enrollment_required, reason mfa_enrollment_required

  anna defers mfa
  anna logs in with "Correct horse battery 42"
  expect decision allowed

at +29d
  anna logs in with "Correct horse battery 42"
  expect decision allowed
  expect status active

at 2026-04-01T09:00:00Z
  # Thirty days after the first login.
  expect status active with reasons mfa_enrollment_required
  anna logs in with "Correct horse battery 42"
  expect decision mfa_enrollment_required, reason mfa_enrollment_required
  anna defers mfa
  expect error mfa_deferral_not_allowed

  anna starts mfa enrolment
  anna confirms mfa with the current code
  expect status active

at +30s
  anna logs in with "Correct horse battery 42" and the current code
  expect decision allowed
