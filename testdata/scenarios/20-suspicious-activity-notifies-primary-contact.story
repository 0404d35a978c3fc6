# When unusual activity disables an account, the property's primary contact is notified, and the timeline says so (R3.1, R3.3)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac with primary contact direction@hotel-lac.example
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

at 10:20
  detect "impossible travel: Geneva then Singapore in 20 minutes" on anna from "203.0.113.9" and "198.51.100.7"
  expect status for anna: disabled with reasons disabled_suspicious_activity
  expect audit for anna: rule "impossible travel: Geneva then Singapore in 20 minutes", action account_disabled, notified direction@hotel-lac.example
