package directory

// SetFormatForTest makes Open write format v instead of formatVersion, as
// a later binary would (external tests of upgrades).
func SetFormatForTest(opt *Options, v uint32) { opt.format = v }
