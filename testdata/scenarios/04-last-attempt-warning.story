# With one attempt left the login flow warns "you have one more try before your account is locked" (R1.2, seed 004)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

at 09:05
  anna logs in with "wrong" four times
  expect decision denied, reason invalid_credentials, attempts remaining 2, no last attempt warning

  anna logs in with "wrong"
  expect decision denied, reason invalid_credentials, attempts remaining 1, last attempt warning
  # Warned, not yet locked.
  expect status active
