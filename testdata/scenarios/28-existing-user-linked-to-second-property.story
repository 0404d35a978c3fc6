# Adding an existing user to another property links the same account: no new account, no activation mail (R5.2, seed 003)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  property "Hotel Bellevue" as bellevue
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  register paolo@bellevue.example with password "Seven lemons on a silver tray" at bellevue
  register giulia@bellevue.example with password "Quiet garden in April 12" at bellevue
  grant user management to paolo at bellevue
  paolo activates his account with the activation link
  anna activates her account with the activation link
  anna defers mfa

at 10:00
  register anna@hotel-lac.example with password "Another horse battery 7" at bellevue by giulia
  expect error not_authorised

  register anna@hotel-lac.example with password "Another horse battery 7" at bellevue by paolo
  expect events for anna: linked_to_property
  expect events for bellevue: member_added
  expect access for anna: lac allowed, bellevue allowed
  expect status for anna: active

  # Her own password still opens her one account.
  anna logs in with "Correct horse battery 42"
  expect decision allowed
