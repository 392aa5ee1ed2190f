/** Entry point: `acerelay serve | demo | sim | chaos | bench | --help`. */
const [command = 'serve'] = process.argv.slice(2);
console.error(`acerelay ${command}: not yet`);
process.exit(2);
