# Twenty wrong passwords sent at the same instant lock the account at exactly six (R1.5)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

at 09:05
  anna logs in with "wrong" 20 times at once
  expect events for anna: login_failed x6, account_locked, unlock_link_issued, login_rejected x14
  expect status locked with reasons account_locked

  # Exactly one unlock link went out, and it works.
  anna unlocks her account with the first unlock link
  expect status active
