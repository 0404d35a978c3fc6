# A user who can still log in and pass their current factor resets MFA themself, and enrols again (R6.4, seed 003)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna starts mfa enrolment
  anna confirms mfa with the current code

at 09:30
  anna resets her mfa with a wrong code
  expect error mfa_invalid_code

  anna resets her mfa with the current code
  expect events for anna: mfa_reset

  anna logs in with "Correct horse battery 42"
  expect decision mfa_enrollment_required, reason mfa_enrollment_required

at 09:31
  anna starts mfa enrolment
  anna confirms mfa with the current code
at 09:32
  anna logs in with "Correct horse battery 42" and the current code
  expect decision allowed
