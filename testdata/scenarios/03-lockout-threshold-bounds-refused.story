# A lockout threshold of 0 would lock at once and 11 exceeds PCI DSS 8.3.4's cap of 10: both refused (R1.1)

policy lockout_threshold=0
expect policy error lockout_threshold
policy lockout_threshold=11
expect policy error lockout_threshold
# Every bad setting of one line is reported, so an operator fixes them in one go.
policy lockout_threshold=0 password_min_length=6
expect policy error lockout_threshold, password_min_length

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

at 09:05
  # The refused lines changed nothing: the default of 6 is still in force.
  anna logs in with "wrong" six times
  expect decision denied, reason account_locked
  expect events for anna: login_failed x6, account_locked, unlock_link_issued

  # Ten, the PCI maximum, is accepted.
  policy lockout_threshold=10
  register bruno@hotel-lac.example with password "Another horse battery 7" at lac
  bruno activates his account with the activation link
  bruno defers mfa
  bruno logs in with "wrong" nine times
  expect decision denied, reason invalid_credentials, attempts remaining 1, last attempt warning
  bruno logs in with "wrong"
  expect decision denied, reason account_locked, attempts remaining 0
