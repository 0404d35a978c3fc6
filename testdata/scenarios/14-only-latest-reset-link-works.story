# Asking for a new reset link expires every earlier one; a used link cannot be used again (R2.3)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

at 10:00
  anna asks for a password reset
at 10:10
  anna asks for a password reset

at 10:15
  anna resets her password to "Lake view at dawn 2026" with the first reset link
  expect error link_superseded
  expect events for anna: reset_link_rejected

  anna resets her password to "Lake view at dawn 2026" with the second reset link
  expect events for anna: password_changed

  anna resets her password to "Sunset on the pier 77" with the second reset link
  expect error link_used

  anna logs in with "Lake view at dawn 2026"
  expect decision allowed
