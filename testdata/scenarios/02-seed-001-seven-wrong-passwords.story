# Seed 001 says seven wrong passwords: an operator following it sets lockout_threshold=7 (R1.1, R1.2)
# The seeds disagree (000/002: six, 001: seven); RULES.md makes it a setting, default 6.
policy lockout_threshold=7

at 2026-03-02T09:00:00Z
  property "Albergo del Sole" as sole
  register marco@albergo-sole.example with password "Tramonto sul lago 1987" at sole
  marco activates his account with the activation link
  marco defers mfa

at 09:05
  # Six wrong passwords lock under the default, not under this policy: one try is left.
  marco logs in with "wrong" six times
  expect decision denied, reason invalid_credentials, attempts remaining 1, last attempt warning
  expect events for marco: login_failed x6
  expect status active

  marco logs in with "wrong"
  expect decision denied, reason account_locked, attempts remaining 0
  expect events for marco: login_failed, account_locked, unlock_link_issued
  expect status locked with reasons account_locked
