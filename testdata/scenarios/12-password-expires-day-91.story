# A password older than 90 days is expired: the login must change it, and a reset clears it (R2.1, PCI DSS 8.3.9)
# MFA is left out of this story, which spans three months.
policy mfa_required=false

at 2026-01-05T08:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  register bruno@hotel-lac.example with password "Another horse battery 7" at lac
  anna activates her account with the activation link
  bruno activates his account with the activation link

at +89d
  anna logs in with "Correct horse battery 42"
  expect decision allowed
  expect status for anna: active

at 2026-04-06T08:00:00Z
  # Day 91 after the password was set.
  anna logs in with "Correct horse battery 42"
  expect decision password_change_required, reason password_expired
  expect events for anna: login_rejected
  expect status for anna: password_expired with reasons password_expired

  anna asks for a password reset
  anna resets her password to "Lake view at dawn 2026" with the reset link
  expect status for anna: active
  anna logs in with "Lake view at dawn 2026"
  expect decision allowed

  # Changing it knowing the old one works as well.
  expect status for bruno: password_expired with reasons password_expired
  bruno changes his password from "Another horse battery 7" to "Mountain hut in winter 3"
  expect status for bruno: active
  bruno logs in with "Mountain hut in winter 3"
  expect decision allowed
