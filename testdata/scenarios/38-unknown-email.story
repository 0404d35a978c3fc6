# A login with an e-mail nobody registered is refused exactly like a wrong password, countdown included, so the answer never tells whether an address has an account (R1, R8.2)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

at 09:05
  someone logs in as nobody@hotel-lac.example with "Correct horse battery 42"
  expect decision denied, reason invalid_credentials, attempts remaining 5, no last attempt warning

  anna logs in with "not her password"
  expect decision denied, reason invalid_credentials, attempts remaining 5, no last attempt warning
  # Nobody's failures are not anna's.
  expect events for anna: login_failed

  someone logs in as nobody@hotel-lac.example with "Correct horse battery 42" four times
  expect decision denied, reason invalid_credentials, attempts remaining 1, last attempt warning
  someone logs in as NOBODY@hotel-lac.example with "Correct horse battery 42"
  expect decision denied, reason account_locked, attempts remaining 0
