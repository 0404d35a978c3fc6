package domain

// AccountCommand is a command on the account aggregate. The method is unexported so only
// the types in this file's list can be one: DecideAccount's switch then covers every
// command there is, and passing an event, a property command or any other value to it
// fails to compile instead of being refused at run time.
type AccountCommand interface{ accountCommand() }

// PropertyCommand is a command on the property aggregate, sealed for the same reason.
type PropertyCommand interface{ propertyCommand() }

func (RegisterAccount) accountCommand()          {}
func (RestoreAccount) accountCommand()           {}
func (IssueActivationLink) accountCommand()      {}
func (Activate) accountCommand()                 {}
func (LinkToProperty) accountCommand()           {}
func (UnlinkFromProperty) accountCommand()       {}
func (Login) accountCommand()                    {}
func (RequestPasswordReset) accountCommand()     {}
func (ResetPassword) accountCommand()            {}
func (ChangePassword) accountCommand()           {}
func (RequestUnlockLink) accountCommand()        {}
func (UnlockWithLink) accountCommand()           {}
func (UnlockByAdministrator) accountCommand()    {}
func (StartMFAEnrolment) accountCommand()        {}
func (ConfirmMFAEnrolment) accountCommand()      {}
func (DeferMFAEnrolment) accountCommand()        {}
func (ResetMFA) accountCommand()                 {}
func (RecordSuspiciousActivity) accountCommand() {}
func (DisableAccount) accountCommand()           {}
func (EnableAccount) accountCommand()            {}
func (DisableIfInactive) accountCommand()        {}
func (TouchSession) accountCommand()             {}
func (EndSession) accountCommand()               {}
func (DeleteAccount) accountCommand()            {}
func (EraseAccount) accountCommand()             {}

func (CreateProperty) propertyCommand()       {}
func (AddMember) propertyCommand()            {}
func (RemoveMember) propertyCommand()         {}
func (GrantUserManagement) propertyCommand()  {}
func (RevokeUserManagement) propertyCommand() {}
func (AddBillingContact) propertyCommand()    {}
func (MarkInvoiceOverdue) propertyCommand()   {}
func (MarkInvoicePaid) propertyCommand()      {}
func (ChangeSubscription) propertyCommand()   {}
