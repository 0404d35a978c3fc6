# Device clocks drift: a code one step (30 s) old is accepted with the default skew of 1, two steps old is refused (R6.5)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  register bruno@hotel-lac.example with password "Another horse battery 7" at lac
  anna activates her account with the activation link
  bruno activates his account with the activation link
  anna starts mfa enrolment
  anna confirms mfa with the current code
  bruno starts mfa enrolment
  bruno confirms mfa with the current code

at 09:01:00
  anna logs in with "Correct horse battery 42" and the code from 30s ago
  expect decision allowed

at 09:02:00
  anna logs in with "Correct horse battery 42" and the code from 60s ago
  expect decision mfa_required, reason mfa_invalid_code

  # A phone running 30 seconds fast is tolerated too.
  anna logs in with "Correct horse battery 42" and the code from 30s ahead
  expect decision allowed

  # With no tolerance, a 30-second-old code is refused.
  policy mfa_clock_skew_steps=0
  bruno logs in with "Another horse battery 7" and the code from 30s ago
  expect decision mfa_required, reason mfa_invalid_code
  bruno logs in with "Another horse battery 7" and the current code
  expect decision allowed

  # The tolerance stays small: more than three steps either side is refused.
  policy mfa_clock_skew_steps=4
  expect policy error mfa_clock_skew_steps
