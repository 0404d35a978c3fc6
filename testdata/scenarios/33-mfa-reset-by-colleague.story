# A user who lost their phone has MFA reset by a user-management colleague, then enrols again at the next login (R6.4, seed 003)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  register marco@hotel-lac.example with password "Blue lantern over water 5" at lac
  register giulia@hotel-lac.example with password "Quiet garden in April 12" at lac
  grant user management to marco at lac
  marco activates his account with the activation link
  anna activates her account with the activation link
  anna starts mfa enrolment
  anna confirms mfa with the current code

at 10:00
  giulia resets mfa for anna
  expect error not_authorised

  marco resets mfa for anna
  expect events for anna: mfa_reset

  anna logs in with "Correct horse battery 42"
  expect decision mfa_enrollment_required, reason mfa_enrollment_required
  expect status for anna: active with reasons mfa_enrollment_required
  # After a reset, enrolment cannot be put off.
  anna defers mfa
  expect error mfa_deferral_not_allowed

  anna starts mfa enrolment
  anna confirms mfa with the current code
  expect status for anna: active

at 10:01
  anna logs in with "Correct horse battery 42" and the current code
  expect decision allowed
