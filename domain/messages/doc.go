// Package messages is what people read: the reasons and remediations of a refusal, the
// messages of error envelopes and the e-mails, in English, French and Italian (R8.1), and
// the choice of language from an Accept-Language header.
//
// It is presentation over the domain's stable codes, kept apart so the domain holds only
// the codes and the rules (which status a reason implies, which remediation fixes it) and a
// wording change touches no rule. It sits under domain because both sides that speak to
// people import it: http/api (refusals, error envelopes) and projections/outbox (mails),
// and the outbox must not import http. Like domain it does no I/O: the mail templates are
// compiled into the binary (embed) and parsed once at start-up; a template that does not
// parse stops the program there, never at the first mail.
package messages
