# A successful login resets the count of consecutive wrong passwords (R1.3)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

at 09:05
  anna logs in with "wrong" five times
  expect decision denied, reason invalid_credentials, attempts remaining 1

  anna logs in with "Correct horse battery 42"
  expect decision allowed, attempts remaining 6

  # Five more wrong passwords are again five, not ten: still no lock.
  anna logs in with "wrong" five times
  expect decision denied, reason invalid_credentials, attempts remaining 1
  expect events for anna: login_failed x5
  expect status active
