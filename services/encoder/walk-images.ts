// Moved to libs/image-source (a folder is one kind of dataset; a zip is the other).
export * from '../../libs/image-source/walk-images.js';
