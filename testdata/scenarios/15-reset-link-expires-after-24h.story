# A reset link is valid 24 hours; after that it gives "unable to process your request" (R2.3)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  register bruno@hotel-lac.example with password "Another horse battery 7" at lac
  anna activates her account with the activation link
  bruno activates his account with the activation link
  anna defers mfa
  bruno defers mfa

at 10:00
  anna asks for a password reset
  bruno asks for a password reset

at +23h59m
  bruno resets his password to "Mountain hut in winter 3" with the reset link
  expect events for bruno: password_changed

at 2026-03-03T10:00:00Z
  anna resets her password to "Lake view at dawn 2026" with the reset link
  expect error link_expired
  expect events for anna: reset_link_rejected

  anna asks for a password reset
  anna resets her password to "Lake view at dawn 2026" with the latest reset link
  anna logs in with "Lake view at dawn 2026"
  expect decision allowed
