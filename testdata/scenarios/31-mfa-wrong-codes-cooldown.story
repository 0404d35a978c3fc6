# Five wrong codes: "maximum attempts exceeded" and a 60-second countdown; MFA failures are counted apart from passwords (R6.2, seed 003)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna starts mfa enrolment
  anna confirms mfa with the current code

at 09:02:00
  anna logs in with "Correct horse battery 42" and a wrong code four times
  expect decision mfa_required, reason mfa_invalid_code, attempts remaining 6
  expect events for anna: mfa_code_rejected x4

  anna logs in with "Correct horse battery 42" and a wrong code
  expect decision denied, reason mfa_cooldown, retry after 60s, attempts remaining 6
  expect events for anna: mfa_code_rejected, mfa_cooldown_started
  expect status active with reasons mfa_cooldown

at 09:02:20
  # Even the right code waits for the countdown.
  anna logs in with "Correct horse battery 42" and the current code
  expect decision denied, reason mfa_cooldown, retry after 40s

at 09:03:00
  expect status active
  anna logs in with "Correct horse battery 42" and the current code
  expect decision allowed
