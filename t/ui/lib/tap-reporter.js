// Test results as TAP, the lines t/run-all counts: "ok N - title",
// "not ok N - title" with the error, "ok N - title # SKIP why".
'use strict';

class TapReporter {
    constructor() {
        this.n = 0;
    }

    onBegin(config, suite) {
        console.log('TAP version 13');
        console.log(`1..${suite.allTests().length}`);
    }

    onTestEnd(test, result) {
        const title = test.titlePath().slice(2).join(' > ');
        this.n++;
        if (result.status === 'skipped') {
            const why = test.annotations.filter((a) => a.type === 'skip')
                .map((a) => a.description).filter(Boolean).join('; ');
            console.log(`ok ${this.n} - ${title} # SKIP ${why}`);
        } else if (result.status === test.expectedStatus) {
            console.log(`ok ${this.n} - ${title}`);
        } else {
            console.log(`not ok ${this.n} - ${title}`);
            for (const e of result.errors) {
                for (const line of String(e.stack || e.message).split('\n')) {
                    console.log(`  # ${line}`);
                }
            }
        }
    }

    onError(error) {
        console.log(`not ok ${++this.n} - ${String(error.stack || error.message).split('\n')[0]}`);
    }

    printsToStdio() {
        return true;
    }
}

module.exports = TapReporter;
