# Re-creating a deleted user with the same e-mail restores the previous user (R5.2, seed 003)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register marco@hotel-lac.example with password "Blue lantern over water 5" at lac
  register giulia@hotel-lac.example with password "Quiet garden in April 12" at lac
  grant user management to marco at lac
  marco activates his account with the activation link
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

at 2026-03-09T09:00:00Z
  marco deletes anna
  expect events for anna: account_deleted
  expect status for anna: deleted with reasons account_deleted
  anna logs in with "Correct horse battery 42"
  expect decision denied, reason account_deleted

at 2026-03-16T09:00:00Z
  # Anna is back from leave; a colleague without user management cannot bring her back.
  register anna@hotel-lac.example with password "Brand new horse battery 77" at lac by giulia
  expect error not_authorised

  register anna@hotel-lac.example with password "Brand new horse battery 77" at lac by marco
  # The same account returns: no new account, no activation mail.
  expect events for anna: account_restored
  expect status for anna: active
  anna logs in with "Correct horse battery 42"
  expect decision allowed
