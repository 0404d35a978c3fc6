package projections

// FillStatus gives the external test package's HTTP benchmark the read model the in-process
// one reads, filled the same way.
var FillStatus = fillStatus
