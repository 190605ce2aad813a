// Images and style sheets imported by Backstage's frontend packages: a bundler turns
// them into URLs; under Jest each is this placeholder.
module.exports = 'test-file-stub';
