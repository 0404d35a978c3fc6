# Six wrong passwords lock the account; the unlock link e-mailed at lock time opens it (R1.1, R1.4)
# Seeds 000 and 002 say six. The threshold is a setting whose default is 6 (seed 001's seven: story 02).

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

at 09:05
  anna logs in with "wrong" five times
  expect decision denied, reason invalid_credentials, attempts remaining 1
  expect events for anna: login_failed x5
  expect status active

  anna logs in with "wrong"
  expect decision denied, reason account_locked, attempts remaining 0
  expect events for anna: login_failed, account_locked, unlock_link_issued
  expect status locked with reasons account_locked

  # The right password does not open a locked account.
  anna logs in with "Correct horse battery 42"
  expect decision denied, reason account_locked
  expect events for anna: login_rejected

at 09:20
  anna unlocks her account with the unlock link
  expect events for anna: account_unlocked
  expect status active

  anna logs in with "Correct horse battery 42"
  expect decision allowed, attempts remaining 6
  expect events for anna: login_succeeded, session_started
