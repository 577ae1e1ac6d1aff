-- Reserved for issue 22's triage helper, whose branch brings its own 0009:
-- on merge, this placeholder gives way to it. It only keeps the numbers
-- without gaps on the notices branch (0010).
SELECT 1;
