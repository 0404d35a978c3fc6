# Unusual activity disables the account automatically; re-enabling it needs a password change (R3.1, seeds 000, 002)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  register marco@hotel-lac.example with password "Blue lantern over water 5" at lac
  grant user management to marco at lac
  marco activates his account with the activation link
  anna activates her account with the activation link
  anna defers mfa
  anna logs in with "Correct horse battery 42"
  expect decision allowed
  expect open sessions for anna: 1

at 11:00
  detect "one login, two countries within 10 minutes" on anna from "203.0.113.9" and "198.51.100.7"
  expect events for anna: suspicious_activity_detected, session_ended, account_disabled
  expect open sessions for anna: 0
  expect status for anna: disabled with reasons disabled_suspicious_activity

  anna logs in with "Correct horse battery 42"
  expect decision denied, reason disabled_suspicious_activity

at 14:00
  marco enables anna
  expect events for anna: account_enabled, password_change_required
  expect status for anna: active with reasons password_change_required

  # Whoever used the account may know the password: it must change before anything else.
  anna logs in with "Correct horse battery 42"
  expect decision password_change_required, reason password_change_required

  anna changes her password from "Correct horse battery 42" to "Lake view at dawn 2026"
  expect status for anna: active
  anna logs in with "Lake view at dawn 2026"
  expect decision allowed
