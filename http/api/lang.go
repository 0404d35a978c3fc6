package api

import "accountd/domain/messages"

// lang is the language the client reads, from its Accept-Language header: refusals, their
// remediations and error envelopes are all written in it.
func (x *exchange) lang() messages.Lang {
	return messages.Match(x.r.Header.Get("Accept-Language"))
}

// localMessage is an error's message in the client's language. English keeps the message
// written where the error was made, which names the exact field or value; another language
// reads the code's message (domain/messages), as the code is what the words are about.
func localMessage(e *Error, lang messages.Lang) string {
	if lang == messages.English {
		return e.Message
	}
	if msg, ok := messages.ErrorMessage(e.Code, lang); ok {
		return msg
	}
	return e.Message
}
