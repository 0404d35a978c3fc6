# A disable made by one property is lifted by that property's user managers, not by a colleague from another property the person also works for (R5.1)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  property "Pensione Miramare" as miramare
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  register marco@hotel-lac.example with password "Blue lantern over water 5" at lac
  register sara@miramare.example with password "Seven lemons on a silver tray" at miramare
  add anna to miramare
  grant user management to marco at lac
  marco activates his account with the activation link
  grant user management to sara at miramare
  sara activates her account with the activation link
  anna activates her account with the activation link
  anna defers mfa

at 10:00
  marco disables anna at lac
  expect status for anna: disabled with reasons disabled_manually

  # Sara manages Miramare, where anna also works, but the disable is Hotel du Lac's.
  sara enables anna at miramare
  expect error not_authorised
  expect status for anna: disabled with reasons disabled_manually

  marco enables anna at lac
  expect status for anna: active
