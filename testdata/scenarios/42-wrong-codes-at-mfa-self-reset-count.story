# Wrong codes count wherever they are typed: five at the self-service MFA reset start the countdown too (R6.2, R6.4)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna starts mfa enrolment
  anna confirms mfa with the current code

at 09:30
  anna resets her mfa with a wrong code
  expect error mfa_invalid_code
  anna resets her mfa with a wrong code
  expect error mfa_invalid_code
  anna resets her mfa with a wrong code
  expect error mfa_invalid_code
  anna resets her mfa with a wrong code
  expect error mfa_invalid_code
  anna resets her mfa with a wrong code
  expect error mfa_invalid_code
  expect status active with reasons mfa_cooldown

  # "Authentication failed, maximum attempts exceeded": even the right code waits.
  anna resets her mfa with the current code
  expect error mfa_cooldown
  anna logs in with "Correct horse battery 42" and the current code
  expect decision denied, reason mfa_cooldown

at 09:31
  anna resets her mfa with the current code
  expect events for anna: mfa_reset
