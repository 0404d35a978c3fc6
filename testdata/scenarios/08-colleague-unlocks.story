# A colleague with user management unlocks a locked account; one without it cannot (R1.4, R5.1)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  property "Hotel Bellevue" as bellevue
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  register marco@hotel-lac.example with password "Blue lantern over water 5" at lac
  register giulia@hotel-lac.example with password "Quiet garden in April 12" at lac
  register paolo@bellevue.example with password "Seven lemons on a silver tray" at bellevue
  grant user management to marco at lac
  marco activates his account with the activation link
  grant user management to paolo at bellevue
  anna activates her account with the activation link
  anna defers mfa

at 09:05
  anna logs in with "wrong" six times
  expect status locked with reasons account_locked

at 09:10
  giulia unlocks anna
  expect error not_authorised
  # User management on another property gives no say over Hotel du Lac's staff.
  paolo unlocks anna
  expect error not_authorised
  expect status for anna: locked with reasons account_locked

  marco unlocks anna
  expect events for anna: account_unlocked
  expect status for anna: active

  # Nothing left to unlock.
  marco unlocks anna
  expect error not_locked

  anna logs in with "Correct horse battery 42"
  expect decision allowed
