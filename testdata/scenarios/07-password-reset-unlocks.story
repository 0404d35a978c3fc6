# A completed password reset unlocks a locked account (R1.4, seeds 000 and 003)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

at 09:05
  anna logs in with "wrong" six times
  expect status locked with reasons account_locked

at 09:30
  anna asks for a password reset
  anna resets her password to "Lake view at dawn 2026" with the reset link
  expect events for anna: password_reset_requested, password_changed, account_unlocked
  expect status active

  anna logs in with "Correct horse battery 42"
  expect decision denied, reason invalid_credentials, attempts remaining 5
  anna logs in with "Lake view at dawn 2026"
  expect decision allowed
