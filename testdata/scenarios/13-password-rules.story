# New passwords: at least 12 characters, not too common, not the username or e-mail, not one of the last 4 (R2.2, PCI DSS 8.3.6, 8.3.7)
# This runner has no common-password list of its own: the story says what is on it.
common password "Hotel du Lac 2026"

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Short 1" at lac
  expect error password_rejected because too_short
  register anna@hotel-lac.example with password "Hotel du Lac 2026" at lac
  expect error password_rejected because too_common
  register anna@hotel-lac.example with password "annas-very-own-pass" at lac
  expect error password_rejected because contains_username
  register anna@hotel-lac.example with password "Anna@Hotel-Lac.example!" at lac
  expect error password_rejected because contains_email, contains_username

  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

at 10:00
  anna asks for a password reset
  anna resets her password to "Correct horse battery 42" with the reset link
  expect error password_rejected because recently_used
  expect events for anna: password_reset_requested
  # A refused password leaves the link usable.
  anna resets her password to "Second horse battery 43" with the reset link
  expect events for anna: password_changed

  anna changes her password from "Second horse battery 43" to "Third horse battery 44"
  anna changes her password from "Third horse battery 44" to "Fourth horse battery 45"
  # The first password is now the fourth before the current one: still remembered.
  anna changes her password from "Fourth horse battery 45" to "Correct horse battery 42"
  expect error password_rejected because recently_used
  anna changes her password from "Fourth horse battery 45" to "Fifth horse battery 46"
  # Now it is five back, and may be used again.
  anna changes her password from "Fifth horse battery 46" to "Correct horse battery 42"
  anna logs in with "Correct horse battery 42"
  expect decision allowed

  # The seeds ask only 10 characters; the PCI default of 12 is a setting.
  policy password_min_length=10
  register bruno@hotel-lac.example with password "Ten chars!" at lac
  expect events for bruno: account_registered, activation_link_issued
