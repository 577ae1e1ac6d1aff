//go:build !linux

package journal

import "errors"

func limitFileSize(string) error { return errors.New("the disk-full test needs Linux") }
