# "Didn't receive unlock instructions?": a locked user asks for a new unlock link and it opens the account (R1.4, seed 004)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

  # Nothing to unlock yet.
  anna asks for a new unlock link
  expect error not_locked

at 09:05
  anna logs in with "wrong" six times
  expect status locked with reasons account_locked

at 11:00
  # The first e-mail never arrived.
  anna asks for a new unlock link
  expect events for anna: unlock_link_issued

  anna unlocks her account with the latest unlock link
  expect events for anna: account_unlocked
  expect status active

  # An unlock link works once.
  anna unlocks her account with the latest unlock link
  expect error link_used
  expect events for anna: unlock_link_rejected

  anna logs in with "Correct horse battery 42"
  expect decision allowed
